# The clients over HTTPS (tests/tls.sh), for every back end in the one list:
# the same files and counts as over HTTP, certificates refused with their
# reason, and TLS sessions resumed across a run's connections. The TLS
# faults are in the hardening list. The threaded back ends' resumption test
# is also labelled tsan: their workers share one session cache.
backend_cases(tls tls.sh identical untrusted expired wrongname resume)
foreach(name ${FLAGBENCH_BACKENDS})
  if(TARGET flags_${name} AND NOT name IN_LIST FLAGBENCH_ONE_THREAD_BACKENDS)
    set_property(TEST tls_flags_${name}_resume APPEND PROPERTY LABELS tsan)
  endif()
endforeach()
