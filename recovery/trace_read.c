/* recovery/trace_read.c - placeholder: the trace reader lands here */
