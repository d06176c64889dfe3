import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataError } from "../../../src/errors.ts";
import { buildDataPreview, countCsvRecords, findTaskFiles, TRUNCATED_MARKER } from "../../../src/workspace/index.ts";
import { summarizeColumn } from "../../../src/workspace/columns.ts";

const EXAMPLES = fileURLToPath(new URL("../../../examples", import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aide-preview-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lineFor(preview: string, column: string, section = "train.csv"): string {
  const start = preview.indexOf(`## ${section}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const line = preview
    .slice(start)
    .split("\n")
    .find((l) => l.startsWith(`- ${column}:`) || l.startsWith(`- ${column} [`));
  expect(line, `line for ${column}`).toBeDefined();
  return line as string;
}

describe("summarizeColumn", () => {
  it("infers the usual kinds", () => {
    expect(summarizeColumn("x", ["1", "2", "3", ""]).kind).toBe("int");
    expect(summarizeColumn("x", ["1.5", "2", "NaN"]).kind).toBe("float");
    expect(summarizeColumn("flag", ["True", "False", "True"]).kind).toBe("boolean");
    expect(summarizeColumn("d", ["2020-01-02", "2021-12-31"]).kind).toBe("date");
    expect(summarizeColumn("ts", ["2020-01-02 10:00:00", "2020-01-03T11:30"]).kind).toBe("datetime");
    expect(summarizeColumn("c", ["a", "b", "a", "a"]).kind).toBe("categorical");
    expect(summarizeColumn("user_id", ["u1", "u2", "u3"]).kind).toBe("id");
    expect(summarizeColumn("PassengerId", ["3", "1", "2"]).kind).toBe("id");
    expect(summarizeColumn("x", ["", " ", "NA"]).kind).toBe("empty");
    const text = Array.from({ length: 100 }, (_, i) => `this is review number ${i} of the product`);
    expect(summarizeColumn("review", text).kind).toBe("text");
  });

  it("counts missing values and ranges", () => {
    const s = summarizeColumn("v", ["1", "", "5", "NaN", "3"]);
    expect(s.missing).toBe(2);
    expect(s.min).toBe(1);
    expect(s.max).toBe(5);
    expect(s.mean).toBe(3);
    expect(s.unique).toBe(3);
  });
});

describe("buildDataPreview", () => {
  it("summarises types, missing values and the likely target", async () => {
    const rows = ["id,age,score,city,joined,active,label"];
    for (let i = 1; i <= 50; i++) {
      const city = i % 10 === 0 ? "" : ["Paris", "Lyon", "Nice"][i % 3];
      const score = i % 5 === 0 ? "" : (i * 1.5).toFixed(1);
      rows.push(
        `${i},${20 + (i % 30)},${score},${city},2021-03-${String((i % 28) + 1).padStart(2, "0")},${i % 2 ? "true" : "false"},${i % 3 === 0 ? 1 : 0}`,
      );
    }
    await writeFile(join(dir, "train.csv"), `${rows.join("\n")}\n`);
    await writeFile(join(dir, "test.csv"), "id,age,score,city,joined,active\n51,30,1.5,Paris,2021-04-01,true\n");
    await writeFile(join(dir, "sample_submission.csv"), "id,label\n51,0\n");
    const preview = await buildDataPreview(dir);

    expect(preview).toContain("## train.csv: 50 rows × 7 columns");
    expect(preview).toContain("Columns not in test.csv (likely target): label");
    expect(lineFor(preview, "id")).toContain("id-like int");
    expect(lineFor(preview, "age")).toMatch(/int, 20 to 49/);
    expect(lineFor(preview, "score")).toMatch(/float, .*10 missing \(20\.0%\)/);
    expect(lineFor(preview, "city")).toMatch(/categorical, 3 unique: .*5 missing \(10\.0%\)/);
    expect(lineFor(preview, "joined")).toMatch(/date, 2021-03-01 to 2021-03-28/);
    expect(lineFor(preview, "active")).toMatch(/boolean/);
    expect(lineFor(preview, "label")).toMatch(/\[target\?\]: int, 0 to 1, .*values 0 \(34\), 1 \(16\)/);
    expect(preview).toContain("Same columns as train.csv without: label");
    expect(preview).toContain("Submission format");
    expect(preview.indexOf("## train.csv")).toBeLessThan(preview.indexOf("## test.csv"));
    expect(preview.indexOf("## test.csv")).toBeLessThan(preview.indexOf("## sample_submission.csv"));
    expect(preview.length).toBeLessThanOrEqual(6000);
  });

  it("counts every row of a CSV larger than the sample, quoted line breaks included", async () => {
    const lines = ["id,note,value"];
    for (let i = 0; i < 25_000; i++)
      lines.push(i % 1000 === 0 ? `${i},"two\nlines, quoted ""x""",${i}` : `${i},plain,${i}`);
    await writeFile(join(dir, "train.csv"), `${lines.join("\r\n")}\r\n\r\n`);
    const preview = await buildDataPreview(dir, { sampleRows: 1000 });
    expect(preview).toContain("## train.csv: 25,000 rows × 3 columns");
    expect(preview).toContain("Column stats from the first 1,000 rows.");
    expect(await countCsvRecords(join(dir, "train.csv"))).toBe(25_001);
  });

  it("stays within the bound on a 200-column table and keeps the id and target visible", async () => {
    const header = ["id", ...Array.from({ length: 197 }, (_, i) => `pixel_${i}`), "color", "digit"];
    const rows = [header.join(",")];
    for (let r = 0; r < 300; r++) {
      rows.push(
        [r + 1, ...Array.from({ length: 197 }, (_, i) => (r * 7 + i * 3) % 17), ["red", "blue"][r % 2], r % 10].join(
          ",",
        ),
      );
    }
    await writeFile(join(dir, "train.csv"), `${rows.join("\n")}\n`);
    await writeFile(
      join(dir, "test.csv"),
      `${header.slice(0, -1).join(",")}\n${rows[1]!.split(",").slice(0, -1).join(",")}\n`,
    );
    const preview = await buildDataPreview(dir);
    expect(preview.length).toBeLessThanOrEqual(6000);
    expect(preview).toMatch(/- pixel_0 … pixel_196 \(197 columns\): int, 0 to 16/);
    expect(lineFor(preview, "id")).toContain("id-like int");
    expect(lineFor(preview, "digit")).toContain("[target?]");
    expect(preview).toContain("## test.csv");

    const small = await buildDataPreview(dir, { maxChars: 1200 });
    expect(small.length).toBeLessThanOrEqual(1200);
    expect(small).toContain("digit");
  });

  it("lists the columns by name when even groups do not fit", async () => {
    const header = Array.from({ length: 200 }, (_, i) => `feature_${String.fromCharCode(97 + (i % 26))}${i}x`);
    const rows = [header.join(",")];
    for (let r = 0; r < 20; r++) rows.push(header.map((_, i) => (i % 2 ? `${r * i}` : `v${r % 3}`)).join(","));
    await writeFile(join(dir, "data.csv"), `${rows.join("\n")}\n`);
    const preview = await buildDataPreview(dir, { maxChars: 3000 });
    expect(preview.length).toBeLessThanOrEqual(3000);
    expect(preview).toContain(TRUNCATED_MARKER);
    expect(preview).toMatch(/\.\.\. and \d+ more columns/);
  });

  it("stays within the bound on a directory of 500 files", async () => {
    await mkdir(join(dir, "images"));
    for (let i = 0; i < 500; i++)
      await writeFile(join(dir, "images", `img_${String(i).padStart(3, "0")}.png`), "x".repeat(i));
    await writeFile(join(dir, "labels.csv"), "file,label\nimg_000.png,cat\nimg_001.png,dog\n");
    await writeFile(join(dir, "README.txt"), "Images of cats and dogs.\nLabels in labels.csv.\n");
    const preview = await buildDataPreview(dir, { maxChars: 3000 });
    expect(preview.length).toBeLessThanOrEqual(3000);
    expect(preview).toContain("input/ (502 files");
    expect(preview).toContain("images/ (500 files");
    expect(preview).toMatch(/\.\.\. and 497 more files \(497 \.png/);
    expect(preview).toContain("## labels.csv: 2 rows × 2 columns");
    expect(preview).toContain("Images of cats and dogs.");
  });

  it("bounds the tree by maxFiles across many directories", async () => {
    for (let d = 0; d < 30; d++) {
      await mkdir(join(dir, `part${d}`));
      for (let i = 0; i < 5; i++) await writeFile(join(dir, `part${d}`, `f${i}.bin`), "abc");
    }
    const preview = await buildDataPreview(dir, { maxFiles: 20 });
    expect(preview).toMatch(/\.\.\. and \d+ more directories \(\d+ files\)/);
    expect(preview.length).toBeLessThanOrEqual(6000);
  });

  it("reports a malformed CSV inside the preview", async () => {
    await writeFile(join(dir, "train.csv"), 'a,b\n"unterminated,1\n');
    const preview = await buildDataPreview(dir);
    expect(preview).toContain("train.csv");
  });

  it("throws DataError for a missing or empty directory", async () => {
    await expect(buildDataPreview(join(dir, "nope"))).rejects.toBeInstanceOf(DataError);
    await expect(buildDataPreview(dir)).rejects.toThrow(/empty/);
    await writeFile(join(dir, "file.txt"), "x");
    await expect(buildDataPreview(join(dir, "file.txt"))).rejects.toBeInstanceOf(DataError);
  });

  it.each(["loan-default", "house-prices", "plant-species"])("previews the bundled example %s", async (task) => {
    const input = join(EXAMPLES, task, "input");
    const preview = await buildDataPreview(input);
    expect(preview.length).toBeLessThanOrEqual(6000);
    expect(preview).toMatch(/## train\.csv: [\d,]+ rows/);
    expect(preview).toMatch(/\[target\?\]/);
    expect(preview).toContain("## sample_submission.csv");
    const files = await findTaskFiles(input);
    expect(files.train).toBe(join(input, "train.csv"));
    expect(files.test).toBe(join(input, "test.csv"));
    expect(files.sampleSubmission).toBe(join(input, "sample_submission.csv"));
  });

  it("shows the loan-default types", async () => {
    const preview = await buildDataPreview(join(EXAMPLES, "loan-default", "input"));
    expect(lineFor(preview, "income")).toMatch(/int, .*missing/);
    expect(lineFor(preview, "home_ownership")).toMatch(/categorical, 4 unique: .*missing/);
    expect(lineFor(preview, "application_date")).toMatch(/^- application_date: date, 2019-/);
    expect(lineFor(preview, "default")).toContain("[target?]");
  });
});

describe("findTaskFiles", () => {
  it("finds files recursively and case-insensitively, preferring the usual names", async () => {
    await mkdir(join(dir, "data"));
    await writeFile(join(dir, "data", "Train.CSV"), "a\n1\n");
    await writeFile(join(dir, "data", "test_v2.csv"), "a\n1\n");
    await writeFile(join(dir, "Sample_Submission_v2.csv"), "a\n1\n");
    await writeFile(join(dir, "data", "train_extra.csv"), "a\n1\n");
    const files = await findTaskFiles(dir);
    expect(files.train).toBe(join(dir, "data", "Train.CSV"));
    expect(files.test).toBe(join(dir, "data", "test_v2.csv"));
    expect(files.sampleSubmission).toBe(join(dir, "Sample_Submission_v2.csv"));
  });

  it("leaves out what is missing", async () => {
    await writeFile(join(dir, "train.csv"), "a\n1\n");
    expect(await findTaskFiles(dir)).toEqual({ train: join(dir, "train.csv") });
  });
});
