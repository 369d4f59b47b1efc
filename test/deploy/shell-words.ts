/**
 * Splits a POSIX shell command line into words the way /bin/sh does for a plain command: blanks
 * separate words; single quotes are literal; double quotes keep blanks and honour \" \\ \$ \`
 * escapes; a backslash outside quotes escapes the next character (backslash-newline joins lines).
 * Refuses what a plain command line should not contain unquoted here: expansions, operators,
 * redirections and globs, so a copied command line cannot hide shell syntax the test ignores.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in ${line}`);
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '"\\$`\n'.includes(line[j + 1] ?? '')) { if (line[j + 1] !== '\n') word += line[j + 1]; j++; }
        else if (line[j] === '$' || line[j] === '`') throw new Error(`expansion inside "..." in ${line}`);
        else word += line[j];
      }
      if (j >= line.length) throw new Error(`unterminated " in ${line}`);
      i = j;
    } else if (c === '\\') {
      if (line[i + 1] === '\n') { if (word === '') word = null; i++; continue; }
      word += line[i + 1] ?? '';
      i++;
    } else if ('$`;&|<>(){}*?[]#~'.includes(c)) {
      // `{` `}` alone are fine inside words (drill placeholders are quoted anyway); refuse the rest.
      if (c === '{' || c === '}') { word += c; continue; }
      if (c === '#' && word !== '') { word += c; continue; }
      throw new Error(`unquoted ${c} in ${line}`);
    } else word += c;
  }
  if (word !== null) words.push(word);
  return words;
}
