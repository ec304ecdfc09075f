import net from "node:net";

export interface OutageRelay {
  /** Point the app here (http://127.0.0.1:<port>). */
  endpoint: string;
  /** Like a server that died: open connections are reset, new ones refused. */
  kill(): Promise<void>;
  /** Like a server that hangs: open connections are reset, new ones accepted and never answered. */
  hang(): Promise<void>;
  /** Forwards again, on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a service that a test can take down and bring back without touching
 * the service itself (other test files share it).
 */
export async function outageRelay(target: string): Promise<OutageRelay> {
  const { hostname, port: targetPort } = new URL(target);
  let mode: "forward" | "hang" = "forward";
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === "hang") return;
    const upstream = net.connect(Number(targetPort), hostname);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const resetAll = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };

  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async kill() {
      const closed = stopListening();
      resetAll();
      await closed;
    },
    async hang() {
      mode = "hang";
      resetAll();
      if (!server.listening) await listen(port);
    },
    async revive() {
      mode = "forward";
      resetAll();
      if (!server.listening) await listen(port);
    },
    async close() {
      const closed = stopListening();
      resetAll();
      await closed;
    },
  };
}
