# Data foundation: h5ad I/O, dataset layer, splits, synthetic data.
cellot_add_test(NAME io_h5ad_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/io_h5ad_test.cpp LAYERS io LABELS unit)
cellot_add_test(NAME data_split_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_split_test.cpp LAYERS data LABELS unit)
cellot_add_test(NAME data_dataset_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_dataset_test.cpp LAYERS data LABELS unit)
cellot_add_test(NAME data_synth_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_synth_test.cpp LAYERS data LABELS unit)
cellot_add_test(NAME data_transform_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_transform_test.cpp LAYERS data LABELS unit)
