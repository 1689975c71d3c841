#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints the base URL a dialtoned writing its banner to LOG listens on, once it does (up to
# 10 s); exits 1 without printing when it does not. Usage: server_url.sh LOG
for _ in $(seq 100); do
  url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$1" 2>/dev/null | cut -d' ' -f3)
  if [[ -n $url ]]; then echo "$url"; exit 0; fi
  sleep 0.1
done
exit 1
