/**
 * Worker thread for `loadOwnModel(dir, { threads })`: loads the same static model folder
 * and encodes the slices of each `encode` call that the main thread hands over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadOwnModel } from './own-model.js';

interface Job {
  id: number;
  texts: string[];
  role: 'query' | 'document';
  dim?: number;
}

const port = parentPort;
if (port) {
  const ready = loadOwnModel((workerData as { dir: string }).dir);
  ready.then(
    () => port.postMessage({ ready: true }),
    (error: unknown) => port.postMessage({ ready: false, error: (error as Error).message }),
  );
  port.on('message', (job: Job) => {
    ready
      .then((encoder) => encoder.encode(job.texts, { role: job.role, ...(job.dim !== undefined ? { dim: job.dim } : {}) }))
      .then(
        (m) => port.postMessage({ id: job.id, data: m.data }, [m.data.buffer as ArrayBuffer]),
        (error: unknown) => port.postMessage({ id: job.id, error: (error as Error).message }),
      );
  });
}
