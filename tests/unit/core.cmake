cellot_add_test(NAME test_core SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core.cpp LAYERS core LABELS unit)
target_compile_definitions(test_core PRIVATE CELLOT_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}")
cellot_add_test(NAME model_registry_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/model_registry_test.cpp LABELS unit)
cellot_add_test(NAME test_hash SOURCES ${CMAKE_CURRENT_LIST_DIR}/hash_test.cpp LAYERS core LABELS unit)
