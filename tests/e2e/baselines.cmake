# The baselines (scgen, cae, identity, mean_shift, observed) through cellot train / predict.
cellot_add_script_test(NAME baselines_cli_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/baselines_cli.sh LABELS e2e TIMEOUT 300)
