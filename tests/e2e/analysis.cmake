# analysis/: the numerics inside analysis/figures against scipy, scikit-learn and anndata, and the
# figures from a real store (e2e).
cellot_add_script_test(NAME analysis_numerics SCRIPT ${CMAKE_CURRENT_LIST_DIR}/analysis_numerics.sh
  LABELS e2e TIMEOUT 120)
cellot_add_script_test(NAME analysis_figures SCRIPT ${CMAKE_CURRENT_LIST_DIR}/analysis_figures.sh
  LABELS e2e TIMEOUT 600)
set_tests_properties(analysis_figures PROPERTIES PROCESSORS 2)
