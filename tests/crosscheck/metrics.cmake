# Our metrics against independent implementations (scikit-learn, POT, scipy, numpy) through
# Debian's /usr/bin/python3: fixtures are written as .npy, metrics_tool prints our values.
cellot_crosscheck_tool(NAME metrics_tool SOURCE ${CMAKE_CURRENT_LIST_DIR}/metrics_tool.cpp)
cellot_add_script_test(NAME metrics_crosscheck SCRIPT ${CMAKE_CURRENT_LIST_DIR}/metrics_crosscheck.sh
                       LABELS crosscheck TIMEOUT 300)
# The metric kernels' function clones (AVX-512, AVX2+FMA, baseline) give the same bits: the same
# fixture natively and under qemu-user emulating CPUs that select the other clones.
cellot_add_script_test(NAME metrics_isa SCRIPT ${CMAKE_CURRENT_LIST_DIR}/metrics_isa.sh
                       LABELS crosscheck TIMEOUT 600)
set_tests_properties(metrics_isa PROPERTIES SKIP_RETURN_CODE 77)
