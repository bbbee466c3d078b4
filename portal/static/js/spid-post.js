// SPID/CIE: send the signed AuthnRequest to the identity provider (SAML HTTP-POST binding).
// Without JavaScript the form's own button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("saml-post");
  if (form) {
    form.submit();
  }
});
