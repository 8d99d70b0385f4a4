/**
 * What must happen however the process ends: locks released, storage closed.
 * Commands register a task while they hold something; on SIGINT/SIGTERM the
 * main module runs every task still registered before exiting.
 */
type Task = () => Promise<void>;

const tasks = new Set<Task>();

/** Registers `task`; the returned function unregisters it (call it once the task ran normally). */
export function onCleanup(task: Task): () => void {
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Runs every registered task once, concurrently, ignoring their failures. */
export async function runCleanup(): Promise<void> {
  const pending = [...tasks];
  tasks.clear();
  await Promise.allSettled(pending.map((task) => task()));
}
