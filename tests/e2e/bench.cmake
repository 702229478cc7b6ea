# scripts/bench and the bench/ drivers (issue 16): block writer, errors, no absolute paths.
cellot_add_script_test(NAME bench_scripts_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/bench_scripts.sh LABELS e2e)
