#!/bin/sh
# The image's entry point: the sangkien command. "docker compose run --rm bot units import /data/units.xlsx"
# and "docker compose run --rm bot sangkien units import /data/units.xlsx" do the same.
if [ "${1:-}" = "sangkien" ]; then
    shift
fi
exec sangkien "$@"
