// T9phone portal: progressive touches only; every page works without this file.
(function () {
  'use strict';
  var KEYS = { a: 2, b: 2, c: 2, d: 3, e: 3, f: 3, g: 4, h: 4, i: 4, j: 5, k: 5, l: 5, m: 6, n: 6,
    o: 6, p: 7, q: 7, r: 7, s: 7, t: 8, u: 8, v: 8, w: 9, x: 9, y: 9, z: 9 };
  var LETTERS = { 2: 'abc', 3: 'def', 4: 'ghi', 5: 'jkl', 6: 'mno', 7: 'pqrs', 8: 'tuv', 9: 'wxyz' };

  function renderDial(el, nick) {
    while (el.firstChild) el.removeChild(el.firstChild);
    var s = nick.toLowerCase();
    for (var i = 0; i < s.length && i < 12; i++) {
      var d = KEYS[s.charAt(i)];
      if (!d) continue;
      var key = document.createElement('span');
      key.className = 'key';
      var b = document.createElement('b');
      b.textContent = String(d);
      var small = document.createElement('small');
      small.textContent = LETTERS[d];
      key.appendChild(b);
      key.appendChild(small);
      el.appendChild(key);
    }
  }

  // Dial code shown as the nickname is typed.
  var inputs = document.querySelectorAll('input[data-dial-target]');
  Array.prototype.forEach.call(inputs, function (input) {
    var target = document.getElementById(input.getAttribute('data-dial-target'));
    if (!target) return;
    var update = function () { renderDial(target, input.value); };
    input.addEventListener('input', update);
    update();
  });

  // Copy buttons for invite links.
  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (btn) {
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var src = document.getElementById(btn.getAttribute('data-copy'));
      if (!src) return;
      src.select();
      var done = function () { btn.textContent = 'Copied'; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(src.value).then(done, function () {
          document.execCommand('copy'); done();
        });
      } else {
        document.execCommand('copy'); done();
      }
    });
  });
})();
