import { parsed, unreadable, type OutputParser, type TestCase } from './parsed-output.js';
import { cleanFailureMessage, escapeRegExp, relativePath } from './paths.js';
import { findAll, parseXml, type XmlElement } from './xml.js';

/**
 * JUnit XML as pytest (`--junitxml`) and most other runners write it. pytest's test ids are rebuilt
 * from `classname` (`tests.test_calc.TestGroup` → `tests/test_calc.py::TestGroup::name`), since that
 * is the id a person and `pytest <id>` both understand.
 */
export const parseJunitXml: OutputParser = ({ text, root }) => {
  let document: XmlElement;
  try {
    document = parseXml(text);
  } catch (error) {
    return unreadable(`it is not XML (${error instanceof Error ? error.message : String(error)})`);
  }
  const suites = [...findAll(document, 'testsuite'), ...findAll(document, 'testsuites')];
  if (suites.length === 0) return unreadable('it has no <testsuite> element (is this a JUnit XML report?)');
  const pytest = findAll(document, 'testsuite').some((s) => s.attributes.name === 'pytest');
  const tests: TestCase[] = findAll(document, 'testcase').map((testcase) => toTestCase(testcase, pytest, root));
  return parsed({ tests });
};

function toTestCase(testcase: XmlElement, pytest: boolean, root: string): TestCase {
  const name = testcase.attributes.name ?? '';
  const classname = testcase.attributes.classname ?? '';
  const problem = testcase.children.find((c) => c.name === 'failure' || c.name === 'error');
  const skipped = testcase.children.some((c) => c.name === 'skipped');
  const status = problem ? 'failed' : skipped ? 'skipped' : 'passed';
  const message = problem ? problemMessage(problem) : '';
  const fileAttribute = testcase.attributes.file;
  if (pytest && classname === '') {
    // A module that could not even be imported: pytest names the module, not a test.
    const file = `${name.split('.').join('/')}.py`;
    return { name: `${file} (could not be collected)`, file, status, ...(message === '' ? {} : { message: cleanFailureMessage(root, message) }) };
  }
  if (pytest) {
    const { file, classes } = pythonLocation(classname, fileAttribute, root);
    const id = [file, ...classes, name].join('::');
    return {
      name: id,
      file,
      status,
      ...(message === '' ? {} : { message: cleanFailureMessage(root, message) }),
      rerun: { file: id, name: id, pattern: escapeRegExp(name) },
    };
  }
  const file = fileAttribute === undefined ? (looksLikePath(classname) ? relativePath(root, classname) : undefined) : relativePath(root, fileAttribute);
  return {
    name: classname === '' || classname === file ? (file === undefined ? name : `${file} › ${name}`) : `${classname} › ${name}`,
    ...(file === undefined ? {} : { file }),
    status,
    ...(message === '' ? {} : { message: cleanFailureMessage(root, message) }),
    rerun: { file: file ?? classname, name, pattern: `^${escapeRegExp(name)}$` },
  };
}

/** The failure's text, led by its `message` attribute unless the text already says it. */
function problemMessage(problem: XmlElement): string {
  const attribute = (problem.attributes.message ?? '').trim();
  const text = problem.text.trim();
  if (attribute === '' || text.includes(attribute.split('\n')[0] ?? attribute)) return text === '' ? attribute : text;
  return text === '' ? attribute : `${attribute}\n${text}`;
}

/** pytest's default class pattern is `Test*`: the dotted parts before the first class form the module. */
function pythonLocation(classname: string, fileAttribute: string | undefined, root: string): { file: string; classes: string[] } {
  const parts = classname.split('.').filter((p) => p !== '');
  const firstClass = parts.findIndex((p) => /^[A-Z]/.test(p));
  const moduleParts = firstClass === -1 ? parts : parts.slice(0, firstClass);
  const classes = firstClass === -1 ? [] : parts.slice(firstClass);
  const file = fileAttribute === undefined ? `${moduleParts.join('/')}.py` : relativePath(root, fileAttribute);
  return { file, classes };
}

function looksLikePath(text: string): boolean {
  return /[\\/]/.test(text) || /\.[cm]?[jt]sx?$/.test(text);
}
