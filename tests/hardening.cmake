# Faults and hostile peers, for every back end in the one list (tests/hardening.sh).
backend_cases(hardening hardening.sh truncate reset garbage longheader stall stallbody oversize
              slow redirectloop redirect chunked partial_faults server_dies sigint sigint_metadata full_disk
              fd_exhausted fd_cap watch_fails tls_silent tls_garbage tls_close)
