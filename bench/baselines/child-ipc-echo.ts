/** Child side of the child-process IPC baseline: echoes every IPC message back; exits when the channel closes. */
if (!process.send) throw new Error('child-ipc-echo.js must be started with an IPC channel (child_process.fork).');
process.on('message', (m) => process.send?.(m));
process.on('disconnect', () => process.exit(0));
