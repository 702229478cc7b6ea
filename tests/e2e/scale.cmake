# Issue 14 item 2: at per-feature sd 10 with a heterogeneous response (synth --heterogeneity 3),
# standardised CellOT beats identity and mean shift on uvp (medians over drugs x seeds). The
# reduced variant (1 seed, 3 drugs, 400 iterations) runs by default; the full one (2 seeds x 4
# drugs, 2,000 iterations) is slow. fewcells (3 seeds x 3 drugs at ~50 cells, as in the issue)
# also asserts that the issue's settings (standardize false + MMD with fixed gammas selecting)
# bring the failure back; slow (18 CellOT tasks). `scale_standardize.sh broken` (maps nearly
# translations) must fail: the check can fail.
foreach(_v reduced full fewcells)
  add_test(NAME scale_standardize_${_v}_e2e COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/scale_standardize.sh ${_v})
  set_tests_properties(scale_standardize_${_v}_e2e PROPERTIES ENVIRONMENT "${CELLOT_TEST_ENV}"
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endforeach()
set_tests_properties(scale_standardize_reduced_e2e PROPERTIES LABELS e2e TIMEOUT 900)
set_tests_properties(scale_standardize_full_e2e PROPERTIES LABELS "e2e;slow" TIMEOUT 5400)
set_tests_properties(scale_standardize_fewcells_e2e PROPERTIES LABELS "e2e;slow" TIMEOUT 1800)
