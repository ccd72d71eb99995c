export const CHAT_BIN: string;
export interface ChatServer {
  port: number;
  wsUrl: string;
  httpUrl: string;
  log(): string;
  stop(signal?: "SIGTERM" | "SIGKILL" | "SIGINT"): Promise<void>;
}
export function startChat(addr?: string): Promise<ChatServer>;
