/**
 * Reads one secret from standard input without echoing it: piped input is read to its end (one
 * trailing newline dropped); on a terminal, keystrokes are taken in raw mode until Enter and
 * nothing of them is written back.
 */
export async function readSecret(stdin: NodeJS.ReadStream, prompt: NodeJS.WritableStream): Promise<string> {
  if (!stdin.isTTY) {
    let text = "";
    stdin.setEncoding("utf8");
    for await (const chunk of stdin) text += chunk as string;
    return text.replace(/\r?\n$/, "");
  }
  prompt.write("client secret (not shown): ");
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            stdin.off("data", onData);
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            reject(new Error("interrupted"));
            return;
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    prompt.write("\n");
  }
}
