# cellot synth / describe through the CLI, and every bad-data error (exit 2, one line).
cellot_add_script_test(NAME data_synth_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/data_synth.sh LABELS e2e)
cellot_add_script_test(NAME data_errors_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/data_errors.sh LABELS e2e)
cellot_add_script_test(NAME data_bad_input_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/data_bad_input.sh LABELS e2e)
cellot_add_script_test(NAME synth_scrna_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/synth_scrna.sh LABELS e2e)
# CellOT is the best model against the known truth on the scrna preset (minutes of training):
# slow; the reduced variant (a smaller file, 300 iterations) beats identity in under a minute.
cellot_add_script_test(NAME scrna_cellot_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/scrna_cellot.sh LABELS "e2e;slow" TIMEOUT 3600)
cellot_add_script_test(NAME scrna_cellot_quick_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/scrna_cellot_quick.sh LABELS e2e)
# The rest of issue 13's bad input: stores, config files, options, read-only outputs, a full disk.
cellot_add_script_test(NAME bad_input_more_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/bad_input_more.sh LABELS e2e TIMEOUT 600)
