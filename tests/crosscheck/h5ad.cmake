# anndata cross-check of the h5ad reader/writer (both directions) and of the synth presets.
add_executable(h5ad_tool ${CMAKE_CURRENT_LIST_DIR}/h5ad_tool.cpp)
target_link_libraries(h5ad_tool PRIVATE cellot::all cellot::warnings)
set_target_properties(h5ad_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
cellot_add_script_test(NAME h5ad_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/h5ad_roundtrip.sh LABELS crosscheck)
set_property(TEST h5ad_crosscheck APPEND PROPERTY ENVIRONMENT "CELLOT_H5AD_TOOL=$<TARGET_FILE:h5ad_tool>")
cellot_add_script_test(NAME h5ad_layouts SCRIPT ${CMAKE_CURRENT_LIST_DIR}/h5ad_layouts.sh LABELS crosscheck)
set_property(TEST h5ad_layouts APPEND PROPERTY ENVIRONMENT "CELLOT_H5AD_TOOL=$<TARGET_FILE:h5ad_tool>")
