# cellot train / predict end to end (engineer B).
cellot_add_script_test(NAME train_cellot_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/train_cellot.sh LABELS e2e TIMEOUT 300)
