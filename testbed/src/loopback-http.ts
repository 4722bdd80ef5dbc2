// Listening and closing for the test bed's small HTTP servers, which bind 127.0.0.1 only
// (design note, section 2).
import type { Server } from "node:http";

/** Binds 127.0.0.1 on port (0: a free one) and returns the port actually bound. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no port");
  return address.port;
}

/** Stops accepting and drops open connections: idle keep-alive sockets would hold it open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => {
      if (err) reject(err);
      else resolve();
    });
    server.closeAllConnections();
  });
}
