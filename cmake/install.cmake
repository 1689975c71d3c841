# SPDX-License-Identifier: Apache-2.0
# `cmake --install`: the programs, libdialtone.so with its SONAME and headers, pkg-config and
# CMake package files, the sample configuration, the systemd unit, the docs and the man pages,
# in GNUInstallDirs' places (a Debian build passes its own prefix and libdir).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Components: runtime (dialtoned, dialtone, libdialtone.so.0), dev (headers, the .so link,
# pkg-config, CMake package).
install(TARGETS dialtoned RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT runtime)
install(TARGETS dialtone_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS dialtone EXPORT DialtoneTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dialtone
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix, a
# DESTDIR, a package all work from one build).
file(RELATIVE_PATH DIALTONE_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${PROJECT_SOURCE_DIR}/cmake/dialtone.pc.in ${PROJECT_BINARY_DIR}/dialtone.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dialtone.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

set(DIALTONE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Dialtone)
install(EXPORT DialtoneTargets NAMESPACE Dialtone:: DESTINATION ${DIALTONE_CMAKE_DIR}
  COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/DialtoneConfig.cmake.in
  ${PROJECT_BINARY_DIR}/DialtoneConfig.cmake INSTALL_DESTINATION ${DIALTONE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/DialtoneConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/DialtoneConfig.cmake
  ${PROJECT_BINARY_DIR}/DialtoneConfigVersion.cmake
  DESTINATION ${DIALTONE_CMAKE_DIR} COMPONENT dev)

# The systemd unit, pointing at where dialtoned is installed (the prefix as given at install
# time, without DESTDIR).
install(CODE "
  set(sbindir \"${CMAKE_INSTALL_SBINDIR}\")
  if(NOT IS_ABSOLUTE \"\${sbindir}\")
    set(sbindir \"\${CMAKE_INSTALL_PREFIX}/\${sbindir}\")
  endif()
  file(READ \"${PROJECT_SOURCE_DIR}/deploy/dialtoned.service\" unit)
  string(REPLACE /usr/sbin/dialtoned \"\${sbindir}/dialtoned\" unit \"\${unit}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/dialtoned.service\" \"\${unit}\")
  " COMPONENT runtime)
set(DIALTONE_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
  "Where the systemd unit goes (relative to the prefix, or absolute: Debian's /lib/systemd/system)")
install(FILES ${PROJECT_BINARY_DIR}/dialtoned.service
  DESTINATION ${DIALTONE_SYSTEMD_UNIT_DIR} COMPONENT runtime)

install(FILES ${PROJECT_SOURCE_DIR}/conf/dialtoned.toml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)
install(FILES README.md CHANGELOG.md LICENSE NOTICE docs/protocol.md docs/architecture.md
  docs/sdk.md docs/security.md docs/benchmarks.md docs/operations.md docs/openapi.yaml
  docs/asyncapi.yaml
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/deploy
  COMPONENT runtime PATTERN dialtoned.service EXCLUDE)

# Man pages from --help (help2man), so they say what the programs do: dialtoned(8), dialtone(1).
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(man ${PROJECT_BINARY_DIR}/man)
  add_custom_command(OUTPUT ${man}/dialtoned.8 ${man}/dialtone.1
    COMMAND ${CMAKE_COMMAND} -E make_directory ${man}
    COMMAND ${HELP2MAN} --no-info --section=8 --name "the Dialtone call server"
            --output ${man}/dialtoned.8 $<TARGET_FILE:dialtoned>
    COMMAND ${HELP2MAN} --no-info --section=1 --name "voice calls through dialtoned"
            --output ${man}/dialtone.1 $<TARGET_FILE:dialtone_cli>
    DEPENDS dialtoned dialtone_cli
    COMMENT "Man pages (help2man)")
  add_custom_target(man_pages ALL DEPENDS ${man}/dialtoned.8 ${man}/dialtone.1)
  install(FILES ${man}/dialtoned.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT runtime)
  install(FILES ${man}/dialtone.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
else()
  message(STATUS "help2man not found: no man pages (scripts/deps.sh installs it)")
endif()
