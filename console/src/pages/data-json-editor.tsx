import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { json } from '@codemirror/lang-json';
import { bracketMatching, defaultHighlightStyle, foldGutter, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A JSON editor (CodeMirror with JSON highlighting, line numbers, bracket matching, undo). Its text
 * area is labelled by the visible <label> (aria-labelledby), so screen readers and tests find it by
 * that name. Tab is left to the browser (moves focus), so keyboard users are never trapped.
 */
export function JsonEditor({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (v: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onInput);
  changed.current = onInput;
  const labelId = `${id}-label`;

  // Made once; `value` is synced by the effect below.
  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          foldGutter(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          json(),
          EditorState.tabSize.of(2),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({
            id,
            'aria-labelledby': labelId,
            'aria-multiline': 'true',
            role: 'textbox',
            spellcheck: 'false',
          }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  // A new value from outside (loaded, reverted, reset): replace the editor's text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return (
    <div class="field">
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the editor's content element carries aria-labelledby */}
      <label id={labelId}>{label}</label>
      <div ref={host} class="editor data-editor" />
    </div>
  );
}
