# ICNN kernels, CellOT steps and trainer (engineer B).
cellot_add_test(NAME test_icnn SOURCES ${CMAKE_CURRENT_LIST_DIR}/icnn_kernels_test.cpp LABELS unit)
cellot_add_test(NAME test_train_adam SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_adam_test.cpp LABELS unit)
