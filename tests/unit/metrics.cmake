cellot_add_test(NAME metrics_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_test.cpp LAYERS metrics LABELS unit)
# Internal kernels (fast_exp) are tested directly.
target_include_directories(metrics_unit PRIVATE ${CMAKE_SOURCE_DIR}/src/metrics)
cellot_add_test(NAME metrics_sinkhorn_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_sinkhorn_test.cpp LAYERS metrics LABELS unit)
cellot_add_test(NAME metrics_selection_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_selection_test.cpp LAYERS metrics LABELS unit)
cellot_add_test(NAME metrics_change_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_change_test.cpp LAYERS metrics LABELS unit)
