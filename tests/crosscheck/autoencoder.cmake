# scGen and cAE against an independent PyTorch implementation (ae_reference.py) through Debian's
# /usr/bin/python3: ae_tool trains ours on a small synthetic file and writes the fit's trace.
add_executable(ae_tool ${CMAKE_CURRENT_LIST_DIR}/ae_tool.cpp)
target_link_libraries(ae_tool PRIVATE cellot::all cellot::warnings)
set_target_properties(ae_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
cellot_add_script_test(NAME autoencoder_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/ae_crosscheck.sh
                       LABELS crosscheck TIMEOUT 120)
set_property(TEST autoencoder_crosscheck APPEND PROPERTY ENVIRONMENT "CELLOT_AE_TOOL=$<TARGET_FILE:ae_tool>")
