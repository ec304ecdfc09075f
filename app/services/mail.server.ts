import nodemailer from "nodemailer";
import type { Config } from "~/config.server";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** Extra headers, e.g. List-Unsubscribe (RFC 8058). */
  headers?: Record<string, string>;
}

/** Sends mail. The only driver is SMTP (nodemailer); tests point it at a real SMTP server. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createMailer(config: NonNullable<Config["mail"]>): Mailer {
  const transport = nodemailer.createTransport(config.smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({
        from: config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        headers: message.headers,
      });
    },
    close() {
      transport.close();
    },
  };
}
