import type http from "node:http";
import https from "node:https";
import type net from "node:net";

/**
 * What an HTTP server is busy with, so that shutdown can let requests in flight finish and cut
 * the rest. Realtime traffic (WebSocket upgrades, Socket.IO long polls) is not waited for: it
 * never finishes by itself, and its clients reconnect.
 */
export interface ConnectionDrain {
  /**
   * From now on every response asks the client to close its connection; connections with
   * nothing in flight are closed at once, the others as soon as their response has gone out.
   */
  begin(): void;
  /** Requests in flight, realtime ones aside. */
  requests(): Array<{ req: http.IncomingMessage; res: http.ServerResponse }>;
  /**
   * Resolves true once no connection is busy (a request in flight, or one whose first bytes
   * have arrived), false when `ms` ran out first.
   */
  settled(ms: number): Promise<boolean>;
  /** Closes every connection but upgraded ones; how many requests in flight were cut. */
  cut(): number;
}

interface Connection {
  /** Non-realtime requests in flight, with their responses. */
  requests: Map<http.IncomingMessage, http.ServerResponse>;
  /** All requests in flight, realtime included. */
  open: number;
  /** socket.bytesRead when the last request ended: more since means a request is arriving. */
  quietAt: number;
  upgraded: boolean;
}

export function trackConnections(server: http.Server | https.Server, isRealtime: (req: http.IncomingMessage) => boolean): ConnectionDrain {
  const connections = new Map<net.Socket, Connection>();
  const waiters = new Set<() => void>();
  let draining = false;

  const isBusy = (socket: net.Socket, connection: Connection) =>
    !connection.upgraded && (connection.requests.size > 0 || (connection.open === 0 && socket.bytesRead > connection.quietAt));
  const closeIfQuiet = (socket: net.Socket, connection: Connection) => {
    if (draining && !connection.upgraded && connection.open === 0 && socket.bytesRead <= connection.quietAt) socket.destroy();
  };
  const changed = () => {
    for (const waiter of waiters) waiter();
  };

  // The socket the HTTP layer reads: the TLS socket over HTTPS.
  server.on(server instanceof https.Server ? "secureConnection" : "connection", (socket: net.Socket) => {
    // Over TLS the handshake has been read already: only bytes after it are a request.
    const connection: Connection = { requests: new Map(), open: 0, quietAt: socket.bytesRead, upgraded: false };
    connections.set(socket, connection);
    socket.once("close", () => {
      connections.delete(socket);
      changed();
    });
  });
  server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const connection = connections.get(req.socket);
    if (!connection) return;
    const realtime = isRealtime(req);
    connection.open++;
    if (!realtime) connection.requests.set(req, res);
    if (draining) res.setHeader("Connection", "close");
    res.once("close", () => {
      connection.open--;
      connection.requests.delete(req);
      connection.quietAt = req.socket.bytesRead;
      closeIfQuiet(req.socket, connection);
      changed();
    });
  });
  server.on("upgrade", (req: http.IncomingMessage) => {
    const connection = connections.get(req.socket);
    if (connection) connection.upgraded = true;
    changed();
  });

  const busy = () => [...connections].some(([socket, connection]) => isBusy(socket, connection));

  return {
    begin() {
      draining = true;
      for (const [socket, connection] of connections) {
        closeIfQuiet(socket, connection);
        for (const res of connection.requests.values()) if (!res.headersSent) res.setHeader("Connection", "close");
      }
    },
    requests: () => [...connections.values()].flatMap((connection) => [...connection.requests].map(([req, res]) => ({ req, res }))),
    settled(ms) {
      return new Promise((resolve) => {
        const done = (result: boolean) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(result);
        };
        const check = () => {
          if (!busy()) done(true);
        };
        const timer = setTimeout(() => done(false), ms);
        waiters.add(check);
        check();
      });
    },
    cut() {
      let cut = 0;
      for (const [socket, connection] of connections) {
        if (connection.upgraded) continue;
        cut += connection.requests.size;
        socket.destroy();
      }
      return cut;
    },
  };
}
