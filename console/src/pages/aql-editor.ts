import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState, type Extension, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { AQL_KEYWORDS, aqlLanguage } from './aql-lang';

/**
 * The AQL editor: CodeMirror 6 with AQL highlighting, line numbers, undo history, Mod-Enter to run,
 * keyword completion on Ctrl-Space, and an error mark (a line decoration plus a mark on the token)
 * set from a syntax error's line and column and cleared by the next edit.
 */

export interface ErrorPos {
  line: number;
  column: number;
  /** Characters to mark from the column (the token's length; at least 1). */
  length: number;
}

const setError = StateEffect.define<ErrorPos | null>();

const errorLine = Decoration.line({ class: 'cm-aql-error-line' });
const errorMark = Decoration.mark({ class: 'cm-aql-error-mark' });

/** Document positions of an error: the line's start, and the marked range (clamped to the line). */
function errorRange(state: EditorState, e: ErrorPos): { lineFrom: number; from: number; to: number } {
  const n = Math.min(Math.max(1, e.line), state.doc.lines);
  const line = state.doc.line(n);
  const from = Math.min(line.from + Math.max(0, e.column - 1), line.to);
  const to = Math.min(from + Math.max(1, e.length), line.to);
  return { lineFrom: line.from, from, to };
}

const errorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = tr.docChanged ? Decoration.none : deco.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setError)) continue;
      if (effect.value === null) next = Decoration.none;
      else {
        const r = errorRange(tr.state, effect.value);
        const ranges = [errorLine.range(r.lineFrom)];
        if (r.to > r.from) ranges.push(errorMark.range(r.from, r.to));
        next = Decoration.set(ranges, true);
      }
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** Marks the error's line and token, and puts the cursor there. */
export function showError(view: EditorView, e: ErrorPos | null): void {
  if (e === null) {
    view.dispatch({ effects: setError.of(null) });
    return;
  }
  const r = errorRange(view.state, e);
  view.dispatch({ effects: [setError.of(e), EditorView.scrollIntoView(r.from, { y: 'center' })], selection: { anchor: r.from } });
}

function keywordCompletion(ctx: CompletionContext): CompletionResult | null {
  const word = ctx.matchBefore(/[A-Za-z_]\w*/);
  if (!word || (word.from === word.to && !ctx.explicit)) return null;
  return { from: word.from, options: AQL_KEYWORDS.map((k) => ({ label: k, type: 'keyword' })), validFor: /^\w*$/ };
}

const theme = EditorView.theme({
  '.cm-aql-error-line': { backgroundColor: '#fdeeee' },
  '.cm-aql-error-mark': { textDecoration: 'underline wavy #c0392b', textUnderlineOffset: '3px' },
  '.cm-content': { fontFamily: 'var(--mono, ui-monospace, monospace)' },
  '.cm-gutters': { backgroundColor: '#f5f7fa', borderRight: '1px solid #dde3ea' },
});

export function createAqlEditor(opts: {
  parent: HTMLElement;
  doc: string;
  onRun: () => void;
  onChange: (text: string) => void;
}): EditorView {
  const extensions: Extension[] = [
    lineNumbers(),
    history(),
    highlightActiveLine(),
    bracketMatching(),
    aqlLanguage,
    syntaxHighlighting(defaultHighlightStyle),
    autocompletion({ override: [keywordCompletion], activateOnTyping: false }),
    errorField,
    theme,
    keymap.of([
      {
        key: 'Mod-Enter',
        run: () => {
          opts.onRun();
          return true;
        },
        preventDefault: true,
      },
      ...defaultKeymap,
      ...historyKeymap,
    ]),
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ 'aria-label': 'AQL query', 'aria-multiline': 'true' }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) opts.onChange(u.state.doc.toString());
    }),
  ];
  return new EditorView({ parent: opts.parent, state: EditorState.create({ doc: opts.doc, extensions }) });
}

/** Replaces the editor's text (a restored history entry). */
export function setEditorText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: text.length } });
}
