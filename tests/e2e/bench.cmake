# scripts/bench and the bench/ drivers (issue 16): block writer, errors, no absolute paths.
cellot_add_script_test(NAME bench_scripts_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/bench_scripts.sh LABELS e2e)
# The early-stopping replay (bench/patience_curves.py) against real early-stopped screens.
cellot_add_script_test(NAME patience_replay_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/patience_replay.sh LABELS e2e)
