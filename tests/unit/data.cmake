# Data foundation: h5ad I/O, dataset layer, splits, synthetic data.
cellot_add_test(NAME io_h5ad_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/io_h5ad_test.cpp LABELS unit)
