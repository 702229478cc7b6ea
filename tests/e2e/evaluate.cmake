# cellot evaluate end to end (engineer C): synthetic 4i data, predictions from cellot predict and
# from a hand-written anndata file, JSON and table output, errors, resampling, 2 ranks.
cellot_add_script_test(NAME evaluate_cli_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/evaluate_cli.sh LABELS e2e mpi TIMEOUT 300)
set_tests_properties(evaluate_cli_e2e PROPERTIES PROCESSORS 2)
cellot_add_script_test(NAME evaluate_utf8_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/evaluate_utf8.sh LABELS e2e)
