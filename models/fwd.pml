/* fwd.pml: the forwarder of aborted async waits (see futex.pml); include after FORWARD. */
/* The `.then` of an aborted waitAsync (futex.ts waitAsyncUntil): runs on its thread's event loop,
   so only while no task of that thread holds the token. */
proctype Fwd(byte t) {
  int fs, fseen; byte fn; bool fb1, fb2, fb3;   /* scratch for FORWARD */
end:
  do
  :: atomic { wst[t+NT] == W_OK && running[THR(t)] == 0 -> running[THR(t)] = NT + 1 + t; wst[t+NT] = W_IDLE }
     FORWARD(t, waddr[t+NT]);
     running[THR(t)] = 0
  od
}

