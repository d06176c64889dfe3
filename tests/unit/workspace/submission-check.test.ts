import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SampleSubmissionChecker } from "../../../src/workspace/index.ts";

const EXAMPLES = fileURLToPath(new URL("../../../examples", import.meta.url));

let dir: string;
let input: string;
let out: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aide-subcheck-"));
  input = join(dir, "input");
  out = join(dir, "working");
  await mkdir(input);
  await mkdir(out);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const IDS = [352, 17, 9, 41, 5, 88];

async function withSample(): Promise<SampleSubmissionChecker> {
  await writeFile(join(input, "sample_submission.csv"), `id,progression\n${IDS.map((id) => `${id},0.0`).join("\n")}\n`);
  await writeFile(join(input, "test.csv"), `id,x\n${IDS.map((id) => `${id},1`).join("\n")}\n`);
  return new SampleSubmissionChecker(input);
}

async function submission(text: string): Promise<string> {
  const p = join(out, "submission.csv");
  await writeFile(p, text);
  return p;
}

describe("SampleSubmissionChecker with a sample submission", () => {
  it("accepts a matching file (whitespace, quotes, CRLF and 5.0-style ids tolerated)", async () => {
    const checker = await withSample();
    const rows = IDS.map((id, i) => `${i === 2 ? `"${id}"` : id},${(i * 0.37).toFixed(3)}`);
    expect(await checker.check(await submission(`id,progression\n${rows.join("\n")}\n`))).toBeNull();
    const crlf = IDS.map((id, i) => `${i === 0 ? `${id}.0` : id},1e3`);
    expect(await checker.check(await submission(`\ufeff id , progression \r\n${crlf.join("\r\n")}\r\n`))).toBeNull();
  });

  it("reports wrong columns", async () => {
    const checker = await withSample();
    const p = await submission(`id,pred\n${IDS.map((id) => `${id},1`).join("\n")}\n`);
    expect(await checker.check(p)).toBe("submission columns are [id, pred], expected [id, progression]");
    const swapped = await submission(`progression,id\n${IDS.map((id) => `1,${id}`).join("\n")}\n`);
    expect(await checker.check(swapped)).toBe("submission columns are [progression, id], expected [id, progression]");
  });

  it("reports a wrong row count", async () => {
    const checker = await withSample();
    const p = await submission(
      "id,progression\n" +
        IDS.slice(0, 4)
          .map((id) => `${id},1`)
          .join("\n") +
        "\n",
    );
    expect(await checker.check(p)).toBe("submission has 4 rows, expected 6");
    const extra = await submission(`id,progression\n${[...IDS, 1000].map((id) => `${id},1`).join("\n")}\n`);
    expect(await checker.check(extra)).toBe("submission has 7 rows, expected 6");
  });

  it("reports ids in the wrong order", async () => {
    const checker = await withSample();
    const sorted = [...IDS].sort((a, b) => a - b);
    const p = await submission(`id,progression\n${sorted.map((id) => `${id},1`).join("\n")}\n`);
    expect(await checker.check(p)).toBe("ids differ from sample_submission.csv at row 1 (got 5, expected 352)");
  });

  it("reports empty predictions", async () => {
    const checker = await withSample();
    const p = await submission(`id,progression\n${IDS.map((id, i) => `${id},${i === 3 ? "" : 1}`).join("\n")}\n`);
    expect(await checker.check(p)).toBe('empty prediction in column "progression" at row 4');
  });

  it("reports NaN and other non-numbers where the sample is numeric", async () => {
    const checker = await withSample();
    const p = await submission(`id,progression\n${IDS.map((id, i) => `${id},${i === 4 ? "NaN" : 1}`).join("\n")}\n`);
    expect(await checker.check(p)).toBe('prediction in column "progression" at row 5 is not a finite number (got NaN)');
    const inf = await submission(`id,progression\n${IDS.map((id, i) => `${id},${i === 0 ? "inf" : 1}`).join("\n")}\n`);
    expect(await checker.check(inf)).toMatch(/row 1 is not a finite number \(got inf\)/);
  });

  it("reports rows with the wrong number of values", async () => {
    const checker = await withSample();
    const p = await submission(`id,progression\n${IDS.map((id, i) => `${id},1${i === 1 ? ",2" : ""}`).join("\n")}\n`);
    expect(await checker.check(p)).toBe("row 2 of submission.csv has 3 values, expected 2");
  });

  it("reports a missing, empty or malformed file", async () => {
    const checker = await withSample();
    expect(await checker.check(join(out, "submission.csv"))).toBe("submission.csv was not written");
    expect(await checker.check(await submission(""))).toBe("submission.csv is empty");
    expect(await checker.check(await submission('id,progression\n352,"1\n'))).toMatch(
      /^submission\.csv is not a valid CSV: /,
    );
    expect(await checker.check(out)).toBe("working is not a file");
  });

  it("accepts string labels and multiple prediction columns", async () => {
    await writeFile(join(input, "sample_submission.csv"), "plant_id,species,confidence\nP1,aster,0\nP2,aster,0\n");
    const checker = new SampleSubmissionChecker(input);
    expect(
      await checker.check(await submission("plant_id,species,confidence\nP1,daisy,0.9\nP2,clover,0.1\n")),
    ).toBeNull();
    expect(
      await checker.check(await submission("plant_id,species,confidence\nP1,daisy,high\nP2,clover,0.1\n")),
    ).toMatch(/"confidence" at row 1 is not a finite number/);
    expect(await checker.check(await submission("plant_id,species,confidence\nP2,daisy,1\nP1,clover,1\n"))).toBe(
      "ids differ from sample_submission.csv at row 1 (got P2, expected P1)",
    );
  });

  it("finds the sample recursively and case-insensitively, and parses it once", async () => {
    await mkdir(join(input, "nested"));
    await writeFile(join(input, "nested", "Sample_Submission_v2.CSV"), "Id,Target\n1,0\n2,0\n");
    const checker = new SampleSubmissionChecker(input);
    expect(await checker.describe()).toBe("Sample_Submission_v2.CSV (2 columns, 2 rows)");
    const ok = await submission("Id,Target\n1,1\n2,0\n");
    expect(await checker.check(ok)).toBeNull();
    // The sample is cached: removing it does not change the answers.
    await rm(join(input, "nested"), { recursive: true });
    expect(await checker.check(ok)).toBeNull();
  });

  it("checks the bundled examples against their answers", async () => {
    for (const task of ["loan-default", "house-prices", "plant-species"]) {
      const checker = new SampleSubmissionChecker(join(EXAMPLES, task, "input"));
      expect(await checker.check(join(EXAMPLES, task, "input", "sample_submission.csv"))).toBeNull();
      expect(await checker.check(join(EXAMPLES, task, "answers.csv"))).toBeNull();
      expect(await checker.check(join(EXAMPLES, task, "input", "test.csv"))).toMatch(/^submission columns are/);
    }
  });

  it("keeps memory flat on a large submission", async () => {
    const n = 200_000;
    const ids = Array.from({ length: n }, (_, i) => i);
    await writeFile(join(input, "sample_submission.csv"), `id,y\n${ids.map((i) => `${i},0`).join("\n")}\n`);
    const checker = new SampleSubmissionChecker(input);
    const p = await submission(`id,y\n${ids.map((i) => `${i},${i / 7}`).join("\n")}\n`);
    expect(await checker.check(p)).toBeNull();
    const short = await submission(
      "id,y\n" +
        ids
          .slice(1)
          .map((i) => `${i},1`)
          .join("\n") +
        "\n",
    );
    expect(await checker.check(short)).toBe(`submission has ${n - 1} rows, expected ${n}`);
  });
});

describe("SampleSubmissionChecker without a sample submission", () => {
  it("compares the row count with test.csv", async () => {
    await writeFile(join(input, "train.csv"), "id,x,y\n1,2,3\n");
    await writeFile(join(input, "test.csv"), "id,x\n1,2\n2,3\n3,4\n");
    const checker = new SampleSubmissionChecker(input);
    expect(await checker.describe()).toBe("test.csv row count (3 rows)");
    expect(await checker.check(await submission("id,y\n1,0\n2,1\n3,0\n"))).toBeNull();
    expect(await checker.check(await submission("anything,else\n1,0\n"))).toBe(
      "submission has 1 rows, expected 3 (the rows of test.csv)",
    );
    expect(await checker.check(join(out, "missing.csv"))).toBe("missing.csv was not written");
  });

  it("only needs a parseable CSV with rows when there is no test file either", async () => {
    await writeFile(join(input, "data.csv"), "a\n1\n");
    const checker = new SampleSubmissionChecker(input);
    expect(await checker.describe()).toBe("a non-empty CSV");
    expect(await checker.check(await submission("id,y\n1,0\n"))).toBeNull();
    expect(await checker.check(await submission("id,y\n"))).toBe("submission.csv has a header but no rows");
    expect(await checker.check(await submission('id,y\n"1,0\n'))).toMatch(/not a valid CSV/);
  });

  it("falls back to basic checks when the input directory is missing", async () => {
    const checker = new SampleSubmissionChecker(join(dir, "nope"));
    expect(await checker.check(await submission("id,y\n1,0\n"))).toBeNull();
  });
});

describe("column messages for wide submissions", () => {
  it("names the first differing column or abbreviates the lists", async () => {
    const cols = ["id", ...Array.from({ length: 20 }, (_, i) => `class_${i}`)];
    await writeFile(join(input, "sample_submission.csv"), `${cols.join(",")}\n${cols.map(() => "1").join(",")}\n`);
    const checker = new SampleSubmissionChecker(input);
    const renamed = cols.map((c) => (c === "class_4" ? "class_four" : c));
    expect(await checker.check(await submission(`${renamed.join(",")}\n${cols.map(() => "1").join(",")}\n`))).toBe(
      'submission column 6 is "class_four", expected "class_4"',
    );
    expect(await checker.check(await submission("id,class_0\n1,1\n"))).toBe(
      "submission columns are [id, class_0], expected [id, class_0, class_1, class_2, class_3, class_4, ... (21 columns)]",
    );
  });
});
