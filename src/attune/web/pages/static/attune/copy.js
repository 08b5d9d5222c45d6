// "Copy the link" buttons: <button data-copy="ID"> copies the value of the element with that id and
// shows the element marked data-copied="ID". A static file: the pages allow no inline script.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const id = button.getAttribute("data-copy");
  const field = document.getElementById(id);
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value || field.textContent);
  } catch {
    field.select(); // no clipboard permission (plain http): select it for Ctrl+C
    document.execCommand("copy");
  }
  const done = document.querySelector(`[data-copied="${id}"]`);
  if (done) done.hidden = false;
});
