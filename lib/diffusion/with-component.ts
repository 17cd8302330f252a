/** Use a component's session for one stage: acquired before, released after (closed there under CPU offload). */
import type { Components } from "../onnx/components.js";
import type { ModelSession } from "../onnx/session.js";

export async function withComponent<T>(components: Components, name: string, use: (session: ModelSession) => T | Promise<T>): Promise<T> {
  const session = await components.acquire(name);
  try {
    return await use(session);
  } finally {
    await components.release(name);
  }
}
