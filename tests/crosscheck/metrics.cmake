# Our metrics against independent implementations (scikit-learn, POT, scipy, numpy) through
# Debian's /usr/bin/python3: fixtures are written as .npy, metrics_tool prints our values.
add_executable(metrics_tool ${CMAKE_CURRENT_LIST_DIR}/metrics_tool.cpp)
target_link_libraries(metrics_tool PRIVATE cellot::all cellot::warnings)
set_target_properties(metrics_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
cellot_add_script_test(NAME metrics_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/metrics_crosscheck.sh
                       LABELS crosscheck TIMEOUT 300)
# The metric kernels' function clones (AVX-512, AVX2+FMA, baseline) give the same bits: the same
# fixture natively and under qemu-user emulating CPUs that select the other clones.
cellot_add_script_test(NAME metrics_isa SCRIPT ${CMAKE_CURRENT_LIST_DIR}/metrics_isa.sh
                       LABELS crosscheck TIMEOUT 600)
set_tests_properties(metrics_isa PROPERTIES SKIP_RETURN_CODE 77)
