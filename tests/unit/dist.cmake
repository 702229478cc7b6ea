# Batch system (engineer E): plan, results store, merge, report.
cellot_add_test(NAME test_plan SOURCES ${CMAKE_CURRENT_LIST_DIR}/plan_test.cpp LAYERS screen LABELS unit)
cellot_add_test(NAME test_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_test.cpp LAYERS io screen LABELS unit)
cellot_add_test(NAME test_store_provenance SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_provenance_test.cpp LAYERS io LABELS unit)
cellot_add_test(NAME test_report SOURCES ${CMAKE_CURRENT_LIST_DIR}/report_test.cpp LAYERS report LABELS unit)
cellot_add_test(NAME test_report_stats SOURCES ${CMAKE_CURRENT_LIST_DIR}/report_stats_test.cpp LAYERS report LABELS unit)
# Not torch-free: it also runs `cellot inspect` (the front end links every layer's archive).
cellot_add_test(NAME test_store_legacy SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_legacy_test.cpp LABELS unit)
