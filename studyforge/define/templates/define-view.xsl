<?xml version="1.0" encoding="UTF-8"?>
<!-- studyforge's own view of a Define-XML 2.1 file: opened in a browser, define.xml renders itself through
     this stylesheet (XSLT 1.0, which browsers implement). It shows datasets, variables with their origin and
     method text inline, value-level metadata, codelists, methods and comments. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:xlink="http://www.w3.org/1999/xlink" exclude-result-prefixes="odm def xlink">
  <xsl:output method="html" encoding="UTF-8" indent="no"/>
  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="vlist" match="def:ValueListDef" use="@OID"/>
  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>

  <xsl:template match="/">
    <html lang="en"><head><meta charset="utf-8"/>
      <title><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/> define.xml</title>
      <style>
        body{font-family:Arial,Helvetica,sans-serif;font-size:13px;margin:0}
        nav{position:fixed;top:0;left:0;bottom:0;width:15em;overflow-y:auto;background:#f3f5f8;padding:.5em;border-right:1px solid #ccd}
        main{margin-left:16.5em;padding:.5em 1em} nav ul{list-style:none;padding-left:.8em;margin:.2em 0}
        table{border-collapse:collapse;margin:.4em 0 1.2em} th,td{border:1px solid #bbc;padding:2px 6px;vertical-align:top;text-align:left}
        th{background:#e3e8f0} details>summary{cursor:pointer;font-weight:bold;font-size:15px;margin:.6em 0 .2em}
      </style></head>
      <body>
        <nav><strong><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/></strong>
          <ul><xsl:for-each select="$mdv/odm:ItemGroupDef">
            <li><a href="#{@OID}"><xsl:value-of select="@Name"/></a></li></xsl:for-each>
            <li><a href="#codelists">Codelists</a></li><li><a href="#methods">Methods</a></li></ul></nav>
        <main>
          <h1><xsl:value-of select="$mdv/@Name"/></h1>
          <p><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyDescription"/></p>
          <table><tr><th>Standard</th><th>Type</th><th>Version</th></tr>
            <xsl:for-each select="$mdv/def:Standards/def:Standard">
              <tr><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td><td><xsl:value-of select="@Version"/></td></tr>
            </xsl:for-each></table>
          <h2>Datasets</h2>
          <table><tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Keys</th><th>Location</th></tr>
            <xsl:for-each select="$mdv/odm:ItemGroupDef">
              <tr><td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
                <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
                <td><xsl:value-of select="def:Class/@Name"/></td><td><xsl:value-of select="@def:Structure"/></td>
                <td><xsl:for-each select="odm:ItemRef[@KeySequence]"><xsl:sort select="@KeySequence" data-type="number"/>
                  <xsl:value-of select="key('item', @ItemOID)/@Name"/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each></td>
                <td><a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/def:title"/></a></td></tr>
            </xsl:for-each></table>
          <xsl:apply-templates select="$mdv/odm:ItemGroupDef"/>
          <h2 id="codelists">Codelists</h2>
          <xsl:apply-templates select="$mdv/odm:CodeList"/>
          <h2 id="methods">Methods</h2>
          <table><tr><th>Method</th><th>Type</th><th>Description</th></tr>
            <xsl:for-each select="$mdv/odm:MethodDef">
              <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
                <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr></xsl:for-each></table>
          <h2 id="comments">Comments</h2>
          <table><xsl:for-each select="$mdv/def:CommentDef">
            <tr id="{@OID}"><td><xsl:value-of select="@OID"/></td><td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
          </xsl:for-each></table>
        </main>
      </body></html>
  </xsl:template>

  <xsl:template match="odm:ItemGroupDef">
    <details open="open" id="{@OID}"><summary><xsl:value-of select="@Name"/> (<xsl:value-of select="odm:Description/odm:TranslatedText"/>)</summary>
      <table><tr><th>Variable</th><th>Label</th><th>Key</th><th>Type</th><th>Length</th><th>Controlled terms</th><th>Origin</th><th>Derivation / comment</th></tr>
        <xsl:for-each select="odm:ItemRef">
          <xsl:variable name="it" select="key('item', @ItemOID)"/>
          <tr><td><xsl:value-of select="$it/@Name"/>
              <xsl:if test="$it/def:ValueListRef"><br/><small>value level:</small>
                <xsl:for-each select="key('vlist', $it/def:ValueListRef/@ValueListOID)/odm:ItemRef">
                  <br/><small><xsl:call-template name="where"><xsl:with-param name="oid" select="def:WhereClauseRef/@WhereClauseOID"/></xsl:call-template></small>
                </xsl:for-each></xsl:if></td>
            <td><xsl:value-of select="$it/odm:Description/odm:TranslatedText"/></td>
            <td><xsl:value-of select="@KeySequence"/></td><td><xsl:value-of select="$it/@DataType"/></td>
            <td><xsl:value-of select="$it/@Length"/></td>
            <td><xsl:if test="$it/odm:CodeListRef"><a href="#{$it/odm:CodeListRef/@CodeListOID}">
              <xsl:value-of select="key('codelist', $it/odm:CodeListRef/@CodeListOID)/@Name"/></a></xsl:if></td>
            <td><xsl:value-of select="$it/def:Origin/@Type"/>
              <xsl:if test="$it/def:Origin/@Source"> (<xsl:value-of select="$it/def:Origin/@Source"/>)</xsl:if>
              <xsl:for-each select="$it/def:Origin/def:DocumentRef/def:PDFPageRef">
                <xsl:text> p. </xsl:text><a href="{key('leaf', ../@leafID)/@xlink:href}#page={@PageRefs}"><xsl:value-of select="@PageRefs"/></a></xsl:for-each></td>
            <td><xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/>
              <xsl:if test="$it/@def:CommentOID"><xsl:value-of select="key('comment', $it/@def:CommentOID)/odm:Description/odm:TranslatedText"/></xsl:if></td></tr>
        </xsl:for-each></table></details>
  </xsl:template>

  <xsl:template name="where">
    <xsl:param name="oid"/>
    <xsl:for-each select="key('where', $oid)/odm:RangeCheck">
      <xsl:value-of select="key('item', @def:ItemOID)/@Name"/><xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
      <xsl:for-each select="odm:CheckValue"><xsl:value-of select="."/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each>
      <xsl:if test="position() != last()"> and </xsl:if>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="odm:CodeList">
    <table id="{@OID}"><caption><b><xsl:value-of select="@Name"/></b>
      <xsl:if test="odm:Alias[@Context='nci:ExtCodeID']"> [<xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/>]</xsl:if></caption>
      <tr><th>Coded value</th><th>Decode</th></tr>
      <xsl:for-each select="odm:CodeListItem|odm:EnumeratedItem">
        <tr><td><xsl:value-of select="@CodedValue"/></td><td><xsl:value-of select="odm:Decode/odm:TranslatedText"/></td></tr>
      </xsl:for-each></table>
  </xsl:template>
</xsl:stylesheet>
