import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countCsvRecords, iterateCsv, iterateCsvFast, readCsvHead, splitQuoted } from "../../../src/workspace/csv.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aide-csv-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(gen: AsyncGenerator<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const r of gen) out.push(r);
  return out;
}

const CASES: Record<string, string> = {
  plain: "a,b,c\n1,2,3\n4,,6\n",
  crlfBom: "\ufeffa,b\r\n1,2\r\n\r\n3,4",
  quoted: 'id,text,n\n1,"hello, world",2\n2,"say ""hi""",3\n3,"",4\n',
  multiline: 'id,text\n1,"line one\nline two"\n2,"a\r\nb, c"\n3,x\n',
  strayQuote: "id,height\n1,5'10\"\n2,6'1\"\n",
  ragged: "a,b\n1\n2,3,4\n",
  trailing: 'a,b\n1,"x"',
};

describe("iterateCsvFast", () => {
  it.each(Object.keys(CASES))("reads the same records as csv-parse: %s", async (name) => {
    const p = join(dir, `${name}.csv`);
    await writeFile(p, CASES[name]!);
    const fast = await collect(iterateCsvFast(p));
    expect(fast).toEqual(await collect(iterateCsv(p)));
    expect(await countCsvRecords(p)).toBe(fast.length);
  });

  it("rejects an unclosed quote", async () => {
    const p = join(dir, "bad.csv");
    await writeFile(p, 'a,b\n1,"open\n2,3\n');
    await expect(collect(iterateCsvFast(p))).rejects.toThrow(/Quote Not Closed/);
    await expect(collect(iterateCsv(p))).rejects.toThrow();
  });

  it("handles records that span read chunks", async () => {
    const p = join(dir, "big.csv");
    const rows = ["id,text"];
    for (let i = 0; i < 20_000; i++) rows.push(i % 97 === 0 ? `${i},"multi\nline ""${i}"", here"` : `${i},value ${i}`);
    await writeFile(p, `${rows.join("\n")}\n`);
    const fast = await collect(iterateCsvFast(p));
    expect(fast.length).toBe(20_001);
    expect(fast).toEqual(await collect(iterateCsv(p)));
    expect(await countCsvRecords(p)).toBe(20_001);
  });
});

describe("splitQuoted and readCsvHead", () => {
  it("splits quoted fields", () => {
    expect(splitQuoted('"a,b",c,"d""e"', ",")).toEqual(["a,b", "c", 'd"e']);
    expect(splitQuoted('x,"",', ",")).toEqual(["x", "", ""]);
  });

  it("reads only the first rows", async () => {
    const p = join(dir, "t.csv");
    await writeFile(p, "a\n1\n2\n3\n");
    expect(await readCsvHead(p, 2)).toEqual({ header: ["a"], rows: [["1"], ["2"]], more: true });
    expect(await readCsvHead(p, 3)).toEqual({ header: ["a"], rows: [["1"], ["2"], ["3"]], more: false });
  });
});
