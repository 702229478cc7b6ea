# The ICNN's and the autoencoder's row kernels' function clones (AVX-512, AVX2, baseline) give
# the same bits: one small CellOT model and one cAE trained natively and under qemu-user
# emulating CPUs that select the other clones.
cellot_add_script_test(NAME icnn_isa SCRIPT ${CMAKE_CURRENT_LIST_DIR}/icnn_isa.sh
                       LABELS crosscheck TIMEOUT 600)
set_tests_properties(icnn_isa PROPERTIES SKIP_RETURN_CODE 77)
