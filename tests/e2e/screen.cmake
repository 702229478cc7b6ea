# The batch system end to end (engineer E): real ranks under mpiexec.
foreach(_t basic determinism resume merge synth50 faults kill_phases kill_trials evaluation lease pack pack_ae controls)
  cellot_add_script_test(NAME screen_${_t}_e2e SCRIPT ${CMAKE_CURRENT_LIST_DIR}/screen_${_t}.sh LABELS e2e mpi TIMEOUT 600)
endforeach()
set_tests_properties(screen_synth50_e2e screen_determinism_e2e PROPERTIES PROCESSORS 4)
set_tests_properties(screen_basic_e2e screen_resume_e2e screen_merge_e2e screen_faults_e2e screen_kill_phases_e2e
                     screen_kill_trials_e2e screen_evaluation_e2e screen_lease_e2e screen_pack_e2e screen_pack_ae_e2e
                     screen_controls_e2e PROPERTIES PROCESSORS 2)
