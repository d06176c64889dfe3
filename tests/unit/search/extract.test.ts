import { describe, expect, it } from "vitest";
import { extractCode, extractPlan, looksLikePython } from "../../../src/search/extract.ts";

const SCRIPT = [
  "import pandas as pd",
  "from sklearn.linear_model import Ridge",
  "",
  "train = pd.read_csv('./input/train.csv')",
  "model = Ridge().fit(train[['a']], train['y'])",
  "pd.DataFrame({'id': [1], 'y': [0.5]}).to_csv('./working/submission.csv', index=False)",
  'print(\'AIDE_METRIC {"name": "rmse", "value": 0.5, "lower_is_better": true}\')',
].join("\n");

describe("extractCode: fence styles", () => {
  for (const fence of ["```python", "```py", "```Python3", "```", "~~~python", "~~~", "````python"]) {
    it(`reads a ${fence} block`, () => {
      const close = fence.startsWith("~")
        ? "~".repeat(fence.match(/^~+/)![0].length)
        : "`".repeat(fence.match(/^`+/)![0].length);
      const reply = `I will fit a ridge model.\n\n${fence}\n${SCRIPT}\n${close}\n`;
      expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
      expect(extractPlan(reply)).toBe("I will fit a ridge model.");
    });
  }

  it("keeps inner shorter fences inside a longer one", () => {
    const code = `s = """\n\`\`\`\nnot the end\n\`\`\`\n"""\nimport os\nprint(s)`;
    expect(extractCode(`Plan.\n\n\`\`\`\`python\n${code}\n\`\`\`\`\n`)).toBe(`${code}\n`);
  });

  it("takes an unclosed block (cut-off answer) to the end", () => {
    expect(extractCode(`Plan.\n\`\`\`python\n${SCRIPT}`)).toBe(`${SCRIPT}\n`);
  });

  it("handles CRLF line endings", () => {
    const reply = `Plan here.\r\n\`\`\`python\r\n${SCRIPT.replace(/\n/g, "\r\n")}\r\n\`\`\`\r\n`;
    expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
  });
});

describe("extractCode: several blocks", () => {
  it("prefers the complete script over snippets", () => {
    const reply = [
      "First, note how we load the data:",
      "```python",
      "df = pd.read_csv(path)",
      "```",
      "Here is the full script:",
      "```python",
      SCRIPT,
      "```",
      "And you could tweak `alpha`:",
      "```python",
      "model = Ridge(alpha=2.0)",
      "```",
    ].join("\n");
    expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
    expect(extractPlan(reply)).toBe("First, note how we load the data:");
  });

  it("ignores non-python blocks", () => {
    const reply = `Install nothing.\n\`\`\`bash\npip install lightgbm\n\`\`\`\n\`\`\`python\n${SCRIPT}\n\`\`\`\n\`\`\`json\n{"a": 1}\n\`\`\``;
    expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
  });

  it("joins consecutive pieces of one script", () => {
    const part1 = "import pandas as pd\nimport numpy as np\n\ndef load():\n    return pd.read_csv('./input/train.csv')";
    const part2 = "def train(df):\n    return df.mean()";
    const part3 = 'df = load()\nprint(train(df))\nprint(\'AIDE_METRIC {"name": "m", "value": 1}\')';
    const reply = `Plan: three parts.\n\n\`\`\`python\n${part1}\n\`\`\`\nThen training:\n\`\`\`python\n${part2}\n\`\`\`\nFinally:\n\`\`\`python\n${part3}\n\`\`\``;
    expect(extractCode(reply)).toBe(`${part1}\n\n${part2}\n\n${part3}\n`);
    expect(extractPlan(reply)).toBe("three parts.");
  });

  it("does not join alternatives that redefine the same function; takes the longest", () => {
    const a = "import numpy as np\n\ndef model():\n    return 1";
    const b = "import numpy as np\n\ndef model():\n    x = 2\n    return x";
    const reply = `Option A:\n\`\`\`python\n${a}\n\`\`\`\nOption B:\n\`\`\`python\n${b}\n\`\`\``;
    expect(extractCode(reply)).toBe(`${b}\n`);
  });

  it("takes the later of two complete scripts of equal length", () => {
    const v1 = SCRIPT.replace('0.5, "lower', '0.4, "lower');
    const reply = `Plan.\n\`\`\`python\n${v1}\n\`\`\`\nCorrected:\n\`\`\`python\n${SCRIPT}\n\`\`\``;
    expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
  });
});

describe("extractCode: no fence", () => {
  it("accepts a reply that is plainly Python", () => {
    expect(extractCode(SCRIPT)).toBe(`${SCRIPT}\n`);
  });

  it("accepts prose followed by unfenced Python, and the prose is the plan", () => {
    const reply = `We fit a ridge model on the numeric columns.\n\n${SCRIPT}\n`;
    expect(extractCode(reply)).toBe(`${SCRIPT}\n`);
    expect(extractPlan(reply)).toBe("We fit a ridge model on the numeric columns.");
  });

  it("returns null for prose only, empty replies and non-python fences", () => {
    expect(extractCode("")).toBeNull();
    expect(extractCode("   \n ")).toBeNull();
    expect(
      extractCode("I think a gradient boosting model would work well here. Import the data first, then train."),
    ).toBeNull();
    expect(extractCode("Sorry, I cannot help with that.")).toBeNull();
    expect(extractCode("Run this:\n```bash\npython train.py\n```")).toBeNull();
    expect(extractCode("```python\n\n```")).toBeNull();
    expect(
      extractCode("```\nThe model should use five folds and early stopping on the validation set.\n```"),
    ).toBeNull();
  });

  it("does not mistake prose that mentions imports for code", () => {
    const prose = [
      "import pandas as pd is how you would start.",
      "Then you would read the training data and look at the columns carefully.",
      "After that you could train a ridge model and check the error on a held out split.",
      "Finally you would write the predictions to the submission file in the working folder.",
    ].join("\n");
    expect(extractCode(prose)).toBeNull();
  });
});

describe("extractPlan", () => {
  it("falls back to the first sentences after the code when the reply opens with code", () => {
    const reply = `\`\`\`python\n${SCRIPT}\n\`\`\`\nThis fits ridge. It validates on a split. It writes the file. It is fast. It is simple. It is extra.`;
    expect(extractPlan(reply)).toBe(
      "This fits ridge. It validates on a split. It writes the file. It is fast. It is simple.",
    );
  });

  it("strips a Plan heading or label", () => {
    expect(extractPlan(`## Plan\n\nUse ridge.\n\n\`\`\`python\n${SCRIPT}\n\`\`\``)).toBe("Use ridge.");
    expect(extractPlan(`**Plan:** Use ridge.\n\`\`\`python\n${SCRIPT}\n\`\`\``)).toBe("Use ridge.");
  });

  it("is empty when there is no prose", () => {
    expect(extractPlan(`\`\`\`python\n${SCRIPT}\n\`\`\``)).toBe("");
  });
});

describe("looksLikePython", () => {
  it("recognises scripts and rejects prose and other languages", () => {
    expect(looksLikePython(SCRIPT)).toBe(true);
    expect(looksLikePython("def f(x):\n    return x + 1\n")).toBe(true);
    expect(looksLikePython("The quick brown fox jumps over the lazy dog.")).toBe(false);
    expect(looksLikePython("pip install lightgbm\napt-get install gcc")).toBe(false);
    expect(looksLikePython('{"a": 1, "b": 2}')).toBe(false);
    expect(looksLikePython("")).toBe(false);
  });
});
