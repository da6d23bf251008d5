(function(){
"use strict";
var form=document.getElementById("application-form");
if(form){
function esc(s){return s.replace(/[.*+?^${}()|[\]\\]/g,"\\$&");}
function idOf(n){return "f-"+n.replace(/[.\[]/g,"-").replace(/\]/g,"");}
function rows(list){return Array.prototype.filter.call(list.querySelector(".rows").children,function(r){return r.hasAttribute("data-row");});}
function renumber(list){
var name=list.getAttribute("data-list"),id=idOf(name);
var rn=new RegExp("^"+esc(name)+"\\[\\d+\\]"),ri=new RegExp("^"+esc(id)+"-\\d+");
rows(list).forEach(function(row,i){
var n=row.querySelector("[data-n]");if(n){n.textContent=i+1;}
row.querySelectorAll("*").forEach(function(el){
["name","data-list"].forEach(function(a){var v=el.getAttribute(a);if(v){el.setAttribute(a,v.replace(rn,name+"["+i+"]"));}});
["id","for","aria-describedby"].forEach(function(a){var v=el.getAttribute(a);if(v){el.setAttribute(a,v.split(" ").map(function(x){return x.replace(ri,id+"-"+i);}).join(" "));}});
});
});
}
function clear(row){
row.querySelectorAll(".list").forEach(function(l){rows(l).slice(1).forEach(function(r){r.remove();});});
row.querySelectorAll("input,textarea,select").forEach(function(el){
if(el.type==="checkbox"){el.checked=false;}else if(el.tagName==="SELECT"){el.selectedIndex=0;}else{el.value="";}
el.removeAttribute("aria-invalid");
});
row.querySelectorAll(".field-error").forEach(function(p){p.remove();});
}
function setError(el,msg){
var pid=el.id+"-error",p=document.getElementById(pid);
var d=(el.getAttribute("aria-describedby")||"").split(" ").filter(function(x){return x&&x!==pid;});
if(msg){
if(!p){p=document.createElement("p");p.className="field-error";p.id=pid;el.parentNode.appendChild(p);}
p.textContent=msg;el.setAttribute("aria-invalid","true");d.push(pid);
}else{
if(p){p.remove();}el.removeAttribute("aria-invalid");
}
if(d.length){el.setAttribute("aria-describedby",d.join(" "));}else{el.removeAttribute("aria-describedby");}
}
function check(el){
var v=el.value.trim();
if(!v){setError(el,el.hasAttribute("data-required")&&el.dataset.touched?form.getAttribute("data-msg-required"):"");return;}
var re=el.getAttribute("data-check");
setError(el,re&&!new RegExp(re).test(v)?el.getAttribute("data-msg"):"");
}
form.addEventListener("click",function(e){
var b=e.target.closest("button");if(!b){return;}
var list=b.closest(".list");
if(b.hasAttribute("data-add")){
var rs=rows(list),copy=rs[rs.length-1].cloneNode(true);
clear(copy);list.querySelector(".rows").appendChild(copy);renumber(list);
var first=copy.querySelector("input,select,textarea");if(first){first.focus();}
}else if(b.hasAttribute("data-remove")){
var row=b.closest("[data-row]");
if(rows(list).length>1){row.remove();renumber(list);var a=list.querySelector("[data-add]");if(a){a.focus();}}else{clear(row);}
}
});
form.addEventListener("input",function(e){if(e.target.matches("[data-check]")&&e.target.getAttribute("aria-invalid")){check(e.target);}});
form.addEventListener("focusout",function(e){if(e.target.matches("input[type=text],input[type=email],input[type=tel],input[type=url],textarea,select")){e.target.dataset.touched="1";check(e.target);}});
form.querySelectorAll("[data-add],[data-remove]").forEach(function(b){b.hidden=false;});
}
var summary=document.getElementById("error-summary");if(summary){summary.focus();}
})();
