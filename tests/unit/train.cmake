# ICNN kernels, CellOT steps and trainer (engineer B).
cellot_add_test(NAME test_icnn SOURCES ${CMAKE_CURRENT_LIST_DIR}/icnn_kernels_test.cpp LABELS unit)
cellot_add_test(NAME test_train_adam SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_adam_test.cpp LABELS unit)
cellot_add_test(NAME test_cellot_trainer SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_trainer_test.cpp LABELS unit)
# The Gaussian OT map at the paper's learning rate (1e-4) with a longer run: slow, not in CI.
add_test(NAME test_cellot_gaussian_paper_lr COMMAND test_cellot_trainer --gtest_filter=*Gaussian*)
set_tests_properties(test_cellot_gaussian_paper_lr PROPERTIES LABELS "unit;slow" TIMEOUT 1800
  ENVIRONMENT "${CELLOT_TEST_ENV};CELLOT_GAUSS_ITERS=4000;CELLOT_GAUSS_LR=1e-4")
cellot_add_test(NAME test_cellot_synth4i SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_synth4i_test.cpp LABELS unit)
# Full 4i cell counts and a longer run: slow, not in CI.
add_test(NAME test_cellot_synth4i_long COMMAND test_cellot_synth4i)
set_tests_properties(test_cellot_synth4i_long PROPERTIES LABELS "unit;slow" TIMEOUT 3600
  ENVIRONMENT "${CELLOT_TEST_ENV};CELLOT_SYNTH4I_ITERS=5000;CELLOT_SYNTH4I_SCALE=1")
cellot_add_test(NAME test_cellot_model_dir SOURCES ${CMAKE_CURRENT_LIST_DIR}/cellot_model_dir_test.cpp LABELS unit)
# Deterministic data parallelism: micro-batch tree, thread pool, epoch sampler, the trainer at
# several thread counts (issue 12).
cellot_add_test(NAME nn_determinism SOURCES ${CMAKE_CURRENT_LIST_DIR}/nn_determinism_test.cpp LABELS unit)
