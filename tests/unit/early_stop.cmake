# Early stopping (issue 16): the rule, CellOT and the autoencoders.
cellot_add_test(NAME test_early_stop SOURCES ${CMAKE_CURRENT_LIST_DIR}/early_stop_test.cpp LABELS unit)
