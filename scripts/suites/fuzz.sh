#!/usr/bin/env bash
# The cargo-fuzz targets of fuzz/ (header parse, open of arbitrary bytes,
# operation sequences against a Vec model), ~15 s each; fails on any crash.
# `make fuzz` runs the same targets for 60 s each.
exec bash "${MBA_ROOT:-.}/scripts/fuzz.sh" "${MBA_FUZZ_SECONDS:-15}"
