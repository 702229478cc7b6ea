# A real single-node Slurm cluster (tests/slurm/local_slurm.sh) running the jobs/ scripts: job
# array + merge + report with dependencies, one srun --mpi=pmix job, preemption and requeue.
# Needs root and slurm-wlm/munge; elsewhere it prints SKIPPED and ctest reports it skipped (77).
cellot_add_script_test(NAME slurm_jobs SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_slurm.sh
  LABELS slurm TIMEOUT 1800)
# The jobs use every core of this node: keep other tests off it while it runs.
set_tests_properties(slurm_jobs PROPERTIES SKIP_RETURN_CODE 77 PROCESSORS 2 RUN_SERIAL TRUE)
