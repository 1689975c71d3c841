// Loading libdialtone.so from Dart (dart:ffi), e.g. in a Flutter app on Linux or Android.
// A sketch of the binding; see include/dialtone/dialtone.h for every function. Callbacks run on
// the SDK's own thread, so from Dart use NativeCallable.listener (Dart 3.1+), which posts them
// to the isolate's event loop.
import 'dart:ffi';
import 'package:ffi/ffi.dart';

final class DtConfig extends Struct {
  external Pointer<Utf8> server;
  external Pointer<Utf8> token;
  external Pointer<Utf8> deviceId;
  @Int32() external int mediaEnabled;
  external Pointer<Utf8> input;
  external Pointer<Utf8> output;
  external Pointer<Utf8> iceLocalAddresses;
  @Int32() external int relayOnly;
  @Int32() external int autoRinging;
  external Pointer<Utf8> caFile;
}

typedef _BoolDoneC = Void Function(Pointer<Void>, Int32, Pointer<Utf8>, Int32);

void main(List<String> args) {
  final lib = DynamicLibrary.open('libdialtone.so');
  final configInit = lib.lookupFunction<Void Function(Pointer<DtConfig>),
      void Function(Pointer<DtConfig>)>('dt_config_init');
  final clientNew = lib.lookupFunction<
      Pointer<Void> Function(Pointer<DtConfig>, Pointer<Void>, Pointer<Utf8>, Size),
      Pointer<Void> Function(Pointer<DtConfig>, Pointer<Void>, Pointer<Utf8>, int)>('dt_client_new');
  final isUserBusy = lib.lookupFunction<
      Void Function(Pointer<Void>, Pointer<Utf8>, Pointer<NativeFunction<_BoolDoneC>>, Pointer<Void>),
      void Function(Pointer<Void>, Pointer<Utf8>, Pointer<NativeFunction<_BoolDoneC>>,
          Pointer<Void>)>('dt_is_user_busy');

  final cfg = calloc<DtConfig>();
  configInit(cfg);
  cfg.ref.server = args[0].toNativeUtf8();
  cfg.ref.token = args[1].toNativeUtf8();
  cfg.ref.mediaEnabled = 0;
  final err = calloc<Uint8>(256).cast<Utf8>();
  final client = clientNew(cfg, nullptr, err, 256);
  if (client == nullptr) throw Exception(err.toDartString());

  late final NativeCallable<_BoolDoneC> done;
  done = NativeCallable<_BoolDoneC>.listener((Pointer<Void> _, int code, Pointer<Utf8> msg, int busy) {
    print(code == 0 ? '${args[2]} busy: ${busy != 0}' : 'error $code');
    done.close();
  });
  isUserBusy(client, args[2].toNativeUtf8(), done.nativeFunction, nullptr);
}
